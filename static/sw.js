// Centrala's service worker: only for the incoming-call notifications (the page shows them
// with Answer and Decline while it is in the background). A click focuses the page and
// tells it what to do: {type: 'centrala-notification', action: 'answer'|'decline'|'', call}.
// No caching, no fetch handler: the page loads from the network as without it.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/** Reports `action` on `notification`'s call to the page (opening it if none is open) and
 * brings the page forward. The notification closes; the page closes the others when the
 * call stops ringing. */
async function notificationClicked(notification, action) {
  notification.close();
  const call = notification.data && notification.data.call;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = windows.find((c) => c.focused) ?? windows[0];
  if (!page) {
    // The page was closed: opening it cannot answer a call it no longer knows.
    if (self.clients.openWindow) await self.clients.openWindow('/');
    return;
  }
  page.postMessage({ type: 'centrala-notification', action: action ?? '', call });
  try {
    await page.focus();
  } catch {
    // Focusing is allowed only while handling a click; the message went out anyway.
  }
}

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(notificationClicked(event.notification, event.action));
});
