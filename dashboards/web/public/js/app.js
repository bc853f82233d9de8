// The page shell: login with a token, the header (views, live state, language, log out), and a
// hash router (#/queue, #/ticket/ID, #/map, #/trends?sensor=…, #/registry/TAB). Views are functions
// render(root, ctx) returning {onEvent?, destroy?}; a language switch re-renders the view.

import { renderAdmin } from "./admin.js";
import { api, ApiError, getToken, onUnauthorised, setToken } from "./api.js";
import { renderChannels } from "./deliveries.js";
import { h, mount } from "./dom.js";
import { getLang, onLangChange, setLang, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { renderMap } from "./map.js";
import { currentMe, forgetMe, loadMe, may } from "./me.js";
import { renderQueue } from "./queue.js";
import { renderSensor } from "./sensor.js";
import { forget, loadCatalog } from "./site.js";
import { renderTicket } from "./ticket.js";
import { renderTrends } from "./trends.js";

const app = document.getElementById("app");
let view = null;
let stopLive = null;
let liveUp = false;

const go = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/queue";
  const [path, qs] = raw.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(qs ?? "") };
}

function header() {
  const { parts } = parseHash();
  const link = (name) => h(`a.nav-${name}`, { href: `#/${name}`, class: parts[0] === name || (name === "queue" && parts[0] === "ticket") ? "active" : null }, t(`nav.${name}`));
  return h("header.top", {},
    h("span.brand", {}, t("app.title")),
    h("nav", {}, link("queue"), link("map"), link("trends"), link("registry"), may("admin") ? link("channels") : null),
    h("span.spacer"),
    currentMe() ? h("span.whoami", { "data-role": currentMe().role, title: t(`role.${currentMe().role}`) }, currentMe().display_name, " · ", t(`role.${currentMe().role}`)) : null,
    h(`span.live.${liveUp ? "up" : "down"}`, { title: t(liveUp ? "live.on" : "live.off"), "data-live": liveUp ? "up" : "down" }, "●"),
    h("button.lang", { type: "button", onclick: () => setLang(getLang() === "zh" ? "en" : "zh") }, t("lang.switch")),
    h("button.logout", { type: "button", onclick: logout }, t("logout")));
}

const toasts = h("div.toasts", { role: "status", "aria-live": "polite" });

// A line about a live event, gone after 6 s or at a tap. On a phone the stack sits under the
// header (css), where it covers no action button.
function toast(text) {
  const el = h("div.toast", { onclick: () => el.remove() }, text);
  toasts.append(el);
  setTimeout(() => el.remove(), 6000);
}

// A one-time sign-in link: #/signin/<secret> (the fragment never reaches a server's log). The
// page trades it for the session token, keeps that in localStorage (signed in across reloads)
// and drops the secret from the address and the history.
async function signInByLink(secret) {
  history.replaceState(null, "", `${location.pathname}#/queue`);
  try {
    const r = await api("/public/sign-in", { method: "POST", body: { link: secret }, token: "" });
    setToken(r.token);
    forget();
    forgetMe();
    await loadMe();
    startLive();
    route();
  } catch (e) {
    showLogin(e.status === 401 ? `${t("login.link_refused")} ${e.message}` : t("login.offline"));
  }
}

async function route() {
  const signin = location.hash.match(/^#\/signin\/([A-Za-z0-9_-]+)$/);
  if (signin) return signInByLink(signin[1]);
  if (!getToken()) return showLogin();
  if (!currentMe()) {
    try {
      await loadMe();
    } catch (e) {
      if (e.status !== 401) mount(app, h("p.error", {}, t("error.load", { msg: e.message })));
      return;
    }
  }
  view?.destroy?.();
  const main = h("main");
  mount(app, header(), main, toasts);
  const { parts, params } = parseHash();
  const ctx = { go, params };
  document.title = t("app.title");
  if (parts[0] === "ticket" && parts[1]) view = renderTicket(main, { ...ctx, id: parts[1] });
  else if (parts[0] === "sensor" && parts[1]) view = renderSensor(main, { ...ctx, id: decodeURIComponent(parts[1]) });
  else if (parts[0] === "map") view = renderMap(main, ctx);
  else if (parts[0] === "trends") view = renderTrends(main, ctx);
  else if (parts[0] === "registry") view = renderAdmin(main, { ...ctx, tab: parts[1] });
  else if (parts[0] === "channels") view = renderChannels(main, ctx);
  else view = renderQueue(main, ctx);
}

function startLive() {
  stopLive?.();
  stopLive = connectLive({
    onState: (up) => {
      liveUp = up;
      const dot = app.querySelector(".live");
      if (dot) {
        dot.className = `live ${up ? "up" : "down"}`;
        dot.dataset.live = up ? "up" : "down";
        dot.title = t(up ? "live.on" : "live.off");
      }
    },
    onEvent: (ev) => {
      const id = ev.ticket_id ?? ev.ticket?.id;
      const kind = ev.event ?? ev.kind ?? ev.type ?? "";
      // The ticket on screen shows its own change in place (often the user's own tap).
      if (id != null && String(view?.ticket) !== String(id)) {
        const key = `event.${kind}`;
        toast(t("toast.ticket", { id, what: t(key) === key ? kind : t(key) }));
      }
      view?.onEvent?.(ev);
    },
  });
}

function showLogin(message = "") {
  view?.destroy?.();
  view = null;
  stopLive?.();
  stopLive = null;
  const input = h("input#token", { type: "password", name: "token", autocomplete: "current-password", required: true, "aria-label": t("login.token") });
  const err = h("p.error.login-error", { role: "alert" }, message);
  mount(app,
    h("div.login-wrap", {},
      h("form.login", {
        onsubmit: async (e) => {
          e.preventDefault();
          const token = input.value.trim();
          err.textContent = "";
          try {
            await api("/sensors", { token });
          } catch (ex) {
            err.textContent = ex instanceof ApiError && (ex.status === 401 || ex.status === 403) ? t("login.bad") : t("login.offline");
            return;
          }
          setToken(token);
          forget();
          forgetMe();
          startLive();
          go(location.hash && location.hash !== "#/login" ? location.hash : "#/queue");
        },
      },
        h("h1", {}, t("app.title")),
        h("h2", {}, t("login.title")),
        h("p.muted", {}, t("login.hint")),
        h("label", { for: "token" }, t("login.token")),
        input,
        h("button.submit", { type: "submit" }, t("login.submit")),
        err,
        h("button.lang.link", { type: "button", onclick: () => setLang(getLang() === "zh" ? "en" : "zh") }, t("lang.switch")))));
  input.focus();
}

/** The offline app shell (sw.js); its cache holds API answers, so it goes with the session. */
function registerShell() {
  if ("serviceWorker" in navigator && window.isSecureContext) navigator.serviceWorker.register("/sw.js").catch(() => {});
}

function forgetShell() {
  if (window.caches) caches.delete("gridwatch-shell-v1").catch(() => {});
}

function logout() {
  forgetShell();
  setToken("");
  forget();
  forgetMe();
  showLogin();
}

onUnauthorised(() => {
  forgetShell();
  setToken("");
  forgetMe();
  showLogin(t("login.bad"));
});
onLangChange(() => (getToken() ? route() : showLogin()));
window.addEventListener("hashchange", route);

loadCatalog();
registerShell();
if (getToken()) startLive();
route();
