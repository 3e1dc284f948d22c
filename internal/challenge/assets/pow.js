// Parapet proof-of-work challenge: hands the puzzle to a Web Worker and
// posts the answer. No third-party code; ES5 so every current browser runs it.
(function () {
  "use strict";
  var box = document.getElementById("parapet-pow");
  var form = document.getElementById("parapet-pow-form");
  var status = document.getElementById("parapet-status");
  if (!box || !form) { return; }
  if (typeof Worker === "undefined") {
    status.textContent = "Your browser cannot run this check. Please enable JavaScript workers or use another browser.";
    return;
  }
  var worker = new Worker(form.getAttribute("action").replace(/verify$/, "worker.js"));
  var started = Date.now();
  worker.onmessage = function (ev) {
    var m = ev.data;
    if (m.progress !== undefined) {
      status.textContent = "Your browser is solving a small puzzle (" + m.progress + " tries so far).";
      return;
    }
    if (m.answer !== undefined) {
      worker.terminate();
      status.textContent = "Done in " + ((Date.now() - started) / 1000).toFixed(1) + " s. Taking you on…";
      form.elements.answer.value = m.answer;
      form.submit();
    }
  };
  worker.onerror = function () {
    status.textContent = "The check failed to run. Please reload the page.";
  };
  worker.postMessage({ challenge: box.getAttribute("data-challenge"), difficulty: parseInt(box.getAttribute("data-difficulty"), 10) });
})();
