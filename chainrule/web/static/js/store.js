// The page's one state: the server's last `state` message, the `hello` options, and what the
// page itself keeps (the hovered or pinned parameter, the colouring toggle). Controls send
// messages; they never draw. The drawing loop reads this object each frame (Playground's
// playground.ts keeps its state the same way).

export const store = {
  options: null,       // from `hello`: names the library offers, limits
  session: null,       // this tab's session id (for upload and export URLs)
  state: null,         // the last `state` from the server
  points: null,        // the data points (sent again only when the data changed)
  version: 0,          // bumped on every state received
  error: "",           // the last error message from the server or the connection
  view: { colourBy: "weight", pinned: null, hovered: null, showTest: false, uploading: false },
  perf: { frames: 0, drawn: 0, states: 0, drawMs: 0, bytes: 0 },
};

let socket = null;

/** Open the WebSocket; every message updates `store`. */
export function connect(onChange) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onmessage = (event) => {
    store.perf.bytes += event.data.length;
    const message = JSON.parse(event.data);
    if (message.type === "hello") {
      store.options = message.options;
      store.session = message.session;
    } else if (message.type === "state") {
      if (message.points !== undefined) store.points = message.points;
      store.state = message;
      store.perf.states += 1;
      if (message.message) store.error = message.message;
    } else if (message.type === "error") {
      store.error = message.message;
    }
    store.version += 1;
    onChange(message);
  };
  socket.onclose = (event) => {
    const why = event.code === 1009 ? "a message was too large" : event.reason || `code ${event.code}`;
    store.error = `The connection to the server closed (${why}); reload the page to start a new session.`;
    store.version += 1;
    onChange({ type: "closed" });
  };
}

/** Send one message to the server (see chainrule/web/protocol.py). */
export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    store.error = "";
    socket.send(JSON.stringify(message));
  }
}
