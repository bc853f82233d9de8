// Who is signed in (GET /api/v1/me: name, role, grids and what the role may do), fetched once
// per sign-in. Views ask `may("write")` before drawing a control, so an officer sees no button
// the server would refuse; the server still checks every request.

import { api } from "./api.js";

const ME_KEY = "gridwatch.me";
let me = null;

export async function loadMe({ fresh = false } = {}) {
  if (me && !fresh) return me;
  try {
    me = await api("/me");
    localStorage.setItem(ME_KEY, JSON.stringify(me));
  } catch (e) {
    if (e.status !== 0) throw e;
    me = JSON.parse(localStorage.getItem(ME_KEY) || "null"); // offline: the last one known
    if (!me) throw e;
  }
  return me;
}

export function currentMe() {
  return me;
}

export function forgetMe() {
  me = null;
  localStorage.removeItem(ME_KEY);
}

/** "write" (acknowledge, comment, resolve, photos, maintenance), "arrive" (crew), "admin". */
export function may(what) {
  if (!me) return false;
  if (what === "write") return !!me.can_write;
  if (what === "arrive") return !!me.can_arrive;
  if (what === "admin") return !!me.is_admin;
  return false;
}
