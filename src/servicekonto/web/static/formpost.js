// OAuth 2.0 Form Post Response Mode: send the answer to the procedure at once. Without
// JavaScript the person presses the button instead; no inline script is needed for either.
(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) {
    form.submit();
  }
})();
