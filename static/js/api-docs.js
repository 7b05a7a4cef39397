// Starts Swagger UI on /api/docs (templates/api/docs.html), over the OpenAPI document
// named by the page: a file of its own, so the page needs no inline script under the
// Content-Security-Policy.
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  const csrf = document.querySelector('meta[name="csrf-token"]');

  window.ui = window.SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    // Only Swagger UI's own components: no top bar to load other documents from.
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    tryItOutEnabled: false,
    persistAuthorization: false,
    // Never ask the public validator about this document (another site).
    validatorUrl: null,
    // A logged-in visitor's "Try it out" goes with the session cookie: unsafe requests
    // to this site then carry the page's CSRF token, as the site's own scripts do. A
    // request with a bearer token needs none (the API skips the check for it).
    requestInterceptor: function (request) {
      const unsafe = !["GET", "HEAD", "OPTIONS"].includes((request.method || "GET").toUpperCase());
      const sameSite = new URL(request.url, window.location.href).origin === window.location.origin;
      if (csrf && unsafe && sameSite && !request.headers["X-CSRF-Token"]) {
        request.headers["X-CSRF-Token"] = csrf.content;
      }
      return request;
    },
  });
})();
