// The service worker of tornado chat (issue 16), served at /service-worker.js so
// that its scope is the whole site. It shows the Web Push notifications the server
// sends while the page is closed (payload: {"type": "message", "group_id",
// "group_name", "seq", "user", "text"}), one per group (the tag: a burst replaces,
// not stacks), and a click opens the page at that group, or focuses an open one
// and tells it to show the group. It caches nothing: the chat needs the server.

const ICON = "/static/icons/icon-192.png";
const BADGE = "/static/icons/badge-96.png";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || data.type !== "message") return;
  const name = data.user?.username ?? "";
  event.waitUntil(self.registration.showNotification(data.group_name || "tornado chat", {
    body: name ? `${name}: ${data.text ?? ""}` : String(data.text ?? ""),
    tag: `group-${data.group_id}`,
    renotify: true,
    icon: ICON,
    badge: BADGE,
    timestamp: Date.now(),
    data: { group_id: data.group_id, seq: data.seq, url: `/?group=${encodeURIComponent(data.group_id)}` },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const groupId = event.notification.data?.group_id;
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin
      && new URL(client.url).pathname === "/");
    if (open) {
      await open.focus();
      open.postMessage({ type: "open-group", group_id: groupId });
      return;
    }
    await self.clients.openWindow(url);
  })());
});
