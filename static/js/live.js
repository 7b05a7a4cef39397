// Live comments: listen on the post's socket (/ws/posts/<id>) and append new comments without a reload.
// Loaded by post.html from /static/ (the Content-Security-Policy forbids inline scripts).
// Text is inserted with textContent, never innerHTML, so comments cannot inject markup.
(function () {
  "use strict";

  var list = document.getElementById("comment-list");
  // Only the last page of comments has data-live-url: an older page does not grow.
  if (!list || !list.hasAttribute("data-live-url") || !window.WebSocket) {
    return;
  }
  // The socket's path comes from the page (data-live-url), built from the route's name.
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var url = scheme + window.location.host + list.getAttribute("data-live-url");
  var authorUrl = list.getAttribute("data-author-url"); // e.g. /users/{id}
  var delay = 1000;
  var maxDelay = 30000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function formatDate(iso) {
    var date = new Date(iso);
    return date.toLocaleDateString("en-GB", { day: "2-digit", month: "short", year: "numeric" });
  }

  function addComment(comment) {
    if (document.getElementById("comment-" + comment.id)) {
      return; // already on the page (we posted it ourselves and reloaded)
    }
    var empty = document.getElementById("no-comments");
    if (empty) {
      empty.remove();
    }
    var article = el("article", "card comment new");
    article.id = "comment-" + comment.id;
    var meta = el("div", "meta");
    var author = el("a", null, comment.author.name);
    author.href = authorUrl.replace("{id}", encodeURIComponent(comment.author.id));
    var time = el("time", null, formatDate(comment.created_at));
    time.setAttribute("datetime", comment.created_at);
    meta.append(author, " · ", time);
    article.append(meta, el("p", null, comment.content));
    list.append(article);
  }

  function connect() {
    var socket = new WebSocket(url);
    socket.addEventListener("open", function () {
      delay = 1000;
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (message.type === "comment") {
        addComment(message.comment);
      }
    });
    socket.addEventListener("close", function () {
      // Back off exponentially, with jitter so a restarted server isn't hit all at once.
      var wait = delay / 2 + Math.random() * delay;
      delay = Math.min(delay * 2, maxDelay);
      window.setTimeout(connect, wait);
    });
  }

  connect();
})();
