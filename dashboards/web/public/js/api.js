// Every call to the hub goes through here: the token from localStorage as a Bearer header,
// JSON in and out, and errors as ApiError with the HTTP status so views can say what happened.

const TOKEN_KEY = "gridwatch.token";

export class ApiError extends Error {
  /** `detail`: the answer's JSON `detail` as sent (a 422's list of {loc, msg, field, …}). */
  constructor(status, message, detail = null) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

const unauthorised = new Set();
/** Called when the server says the token is no good (401), so the app can show the login. */
export function onUnauthorised(fn) {
  unauthorised.add(fn);
}

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v != null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** JSON in and out; `form` (a FormData) is sent as multipart instead of `body`. */
export async function api(path, { method = "GET", body, form, token } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token ?? getToken();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (e) {
    throw new ApiError(0, e.message || "network error");
  }
  if (res.status === 401 && token === undefined) for (const fn of unauthorised) fn();
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const detail = data && typeof data === "object" ? data.detail ?? data.error : data;
    const message = typeof detail === "string" ? detail
      : Array.isArray(detail) && detail.length ? detail.map((d) => d?.msg ?? "").filter(Boolean).join("; ") || `HTTP ${res.status}`
        : `HTTP ${res.status}`;
    throw new ApiError(res.status, message, detail);
  }
  return data;
}

const blobs = new Map();
/** An image the API serves (photos need the Bearer header, so no plain <img src>) as a blob URL. */
export async function imageUrl(path) {
  if (blobs.has(path)) return blobs.get(path);
  const res = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  blobs.set(path, url);
  return url;
}
