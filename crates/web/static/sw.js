// The tweestap app's service worker: shows "approve this sign-in?" when a push arrives and
// opens the app when it is tapped. The request itself is always fetched by the app page.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "tweestap", {
    body: data.body || "",
    tag: "tweestap-request",
    renotify: true,
    requireInteraction: true,
    data: { url: "/app/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url.indexOf("/app/") !== -1 && "focus" in list[i]) {
        list[i].navigate("/app/");
        return list[i].focus();
      }
    }
    return self.clients.openWindow("/app/");
  }));
});
