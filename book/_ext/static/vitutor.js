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
