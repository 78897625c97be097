// Moves the setup code from the link's fragment into the form. The fragment never reaches
// the server, so the code stays out of access logs and Referer headers.
(function () {
  var match = /(?:^#|&)code=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (match) {
    document.getElementById("code").value = match[1];
    history.replaceState(null, "", window.location.pathname);
    document.getElementById("email").focus();
  }
})();
