// The HTTP contract from the page's side: JSON, the XSRF token on unsafe
// requests, errors as ApiError, an unreachable server as NetworkError, and a
// 401 sends the person to the login page.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class NetworkError extends Error {}

function xsrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Where a 401 takes the page: the login page, or (while the account is being closed,
// which ends every session) the login page saying that it is closed.
let signedOutPage = "/login";
export function whenSignedOut(path) {
  signedOutPage = path;
}

// toLogin: false keeps a 401 an ApiError (a wrong password is one: closing the account).
export async function api(method, path, body, { signal, toLogin = true } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (method !== "GET" && method !== "HEAD") headers["X-XSRFToken"] = xsrfToken();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new NetworkError(error.message);
  }
  if (response.status === 401 && toLogin) {
    window.location.assign(signedOutPage);
    throw new ApiError(401, "not_authenticated", "");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const retryAfter = Number(response.headers.get("Retry-After")) || 0;
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText, retryAfter);
  }
  return data;
}

// A multipart upload with progress (fetch cannot report upload progress): resolves
// with the JSON answer, rejects like api().
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("X-XSRFToken", xsrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onerror = () => reject(new NetworkError("upload failed"));
    request.onload = () => {
      if (request.status === 401) {
        window.location.assign("/login");
        reject(new ApiError(401, "not_authenticated", ""));
      } else if (request.status >= 200 && request.status < 300) {
        resolve(request.response);
      } else {
        const error = (request.response && request.response.error) || {};
        const retryAfter = Number(request.getResponseHeader("Retry-After")) || 0;
        reject(new ApiError(request.status, error.code || "error", error.message || request.statusText, retryAfter));
      }
    };
    request.send(form);
  });
}

// Whether an error is worth retrying: the network, a server in trouble, or "slow down".
export function isTransient(error) {
  return error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
}

// Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... at most 30 s, times a random 0.5-1.5.
export function backoff(attempt) {
  const base = Math.min(30000, 500 * 2 ** Math.max(0, attempt - 1));
  return base * (0.5 + Math.random());
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
