// Long display equations, tables and code scroll inside their own box (the page never scrolls
// sideways).  A box whose content is wider than the column gets the class vt-overflows, which
// fades its right edge (vitutor.css) until the reader has scrolled to the end (vt-at-end): the
// cue that there is more to see.  Re-marked after MathJax typesets and on every resize.
(function () {
  "use strict";
  var SELECTOR = [
    "article mjx-container[display='true']",
    "article .pst-scrollable-table-container",
    "article div.highlight pre",
    "article .cell_output pre",
  ].join(", ");

  function atEnd(el) {
    return el.scrollLeft + el.clientWidth >= el.scrollWidth - 1;
  }

  function mark() {
    document.querySelectorAll(SELECTOR).forEach(function (el) {
      var over = el.scrollWidth > el.clientWidth + 1;
      el.classList.toggle("vt-overflows", over);
      el.classList.toggle("vt-at-end", over && atEnd(el));
    });
  }

  document.addEventListener(
    "scroll",
    function (event) {
      var el = event.target;
      if (el.classList && el.classList.contains("vt-overflows")) {
        el.classList.toggle("vt-at-end", atEnd(el));
      }
    },
    true
  );
  window.addEventListener("resize", mark);
  window.addEventListener("load", function () {
    mark();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    }
  });
  window.vitutorMarkOverflow = mark;
})();

// Search results: Sphinx builds each result's snippet from the text of the page's HTML, in which
// math is still TeX source (MathJax typesets it only in the browser), so snippets showed
// "\(\log p(x)\)".  On the search page, math in a fetched page is turned into plain text first:
// delimiters and layout commands dropped, common symbols as Unicode, other commands by name.
(function () {
  "use strict";
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
    zeta: "ζ", eta: "η", theta: "θ", vartheta: "ϑ", iota: "ι", kappa: "κ",
    lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ",
    tau: "τ", upsilon: "υ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω",
    Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π",
    Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω",
    sum: "∑", prod: "∏", int: "∫", partial: "∂", nabla: "∇", infty: "∞",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈",
    propto: "∝", sim: "~", in: "∈", notin: "∉", subset: "⊂", cdot: "·",
    cdots: "⋯", ldots: "…", dots: "…", times: "×", pm: "±", mid: "|",
    to: "→", rightarrow: "→", leftarrow: "←", Rightarrow: "⇒", mapsto: "↦",
    top: "⊤", star: "⋆", ast: "*", log: "log", exp: "exp", det: "det",
    min: "min", max: "max", arg: "arg", Vert: "‖", lVert: "‖", rVert: "‖",
    langle: "⟨", rangle: "⟩", lbrace: "{", rbrace: "}", "|": "‖",
    "{": "{", "}": "}", ",": " ", ";": " ", ":": " ", "!": "", " ": " ",
    quad: " ", qquad: " ", "\\": " ",
  };
  // commands whose argument is kept as it is (\mathrm{KL} -> KL) and commands that vanish
  var WRAPPERS = /\\(?:mathrm|mathbf|mathbb|mathcal|mathsf|mathit|operatorname|text|textrm|textbf|textit|boldsymbol|bm|hat|tilde|bar|overline|widehat|widetilde|underbrace|overbrace)\s*\{([^{}]*)\}/g;
  var DROPPED = /\\(?:left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|displaystyle|textstyle|nonumber|notag|label\{[^}]*\}|tag\{[^}]*\}|begin\{[a-z*]+\}|end\{[a-z*]+\})/g;

  function texToText(tex) {
    var s = tex.replace(/^\s*(\\\(|\\\[|\$\$?)/, "").replace(/(\\\)|\\\]|\$\$?)\s*$/, "");
    s = s.replace(DROPPED, "");
    for (var i = 0; i < 4; i++) {
      s = s.replace(WRAPPERS, "$1");
      s = s.replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)");
      s = s.replace(/\\sqrt\s*\{([^{}]*)\}/g, "√($1)");
    }
    s = s.replace(/\\([A-Za-z]+|.)/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(SYMBOLS, name) ? SYMBOLS[name] : name;
    });
    return s.replace(/[{}&]/g, "").replace(/\s+/g, " ").trim();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof Search === "undefined" || !Search.htmlToText) {
      return; // not the search page
    }
    var htmlToText = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math").forEach(function (el) {
        el.textContent = " " + texToText(el.textContent) + " ";
      });
      return htmlToText(doc.documentElement.outerHTML, anchor);
    };
  });
  window.vitutorTexToText = texToText;
})();

// On a narrow screen the theme shows the table of contents and the page's contents in a modal
// dialog; following a link to a place on the same page left that dialog open over the text.
// Close it once the link has been followed.
document.addEventListener("click", function (event) {
  "use strict";
  var link = event.target.closest && event.target.closest("dialog[open] a[href]");
  if (!link) {
    return;
  }
  var dialog = link.closest("dialog");
  window.setTimeout(function () {
    if (dialog.open) {
      dialog.close();
    }
  }, 0);
});
