// The HubSpot token form: store, show and remove the user's token through /api/me/hubspot-token.
// A stored token is never shown: the API answers its last four characters, and that is all.
"use strict";

const TOKEN_PATH = "/api/me/hubspot-token";

async function showTokenView() {
  showOperatorView("token-panel");
  $("token-error").textContent = "";
  $("token-result").textContent = "";
  try {
    renderToken(await api("GET", TOKEN_PATH));
  } catch (error) {
    if (error.status === 404) renderToken(null);
    else $("token-error").textContent = `Could not read your token: ${error.message}`;
  }
}

function tokenLine(info) {
  const account = info.portalId === null ? "an unknown account" : `HubSpot account ${info.portalId}`;
  const when = info.updatedAt.slice(0, 16).replace("T", " ");
  return `${account} · stored ${when} UTC`;
}

function renderToken(info) {
  const list = $("token-list");
  list.replaceChildren();
  $("token-empty").hidden = info !== null;
  $("token-remove").disabled = info === null;
  if (info === null) return;
  list.append(
    el(
      "li",
      { class: "token-item", "data-last4": info.last4 },
      el("code", { class: "masked", text: `••••••••${info.last4}` }),
      el("span", { class: "muted", text: tokenLine(info) }),
    ),
  );
}

async function saveToken(event) {
  event.preventDefault();
  const input = $("token-input");
  const token = input.value.trim();
  $("token-error").textContent = "";
  $("token-result").textContent = "";
  if (!token) {
    $("token-error").textContent = "Paste a HubSpot private-app token first.";
    return;
  }
  $("token-save").disabled = true;
  try {
    const info = await api("PUT", TOKEN_PATH, { token });
    input.value = "";
    renderToken(info);
    $("token-result").textContent = "Saved: HubSpot accepted the token.";
  } catch (error) {
    $("token-error").textContent = error.message;
  } finally {
    $("token-save").disabled = false;
  }
}

async function removeToken() {
  $("token-error").textContent = "";
  $("token-result").textContent = "";
  const sure = await confirmAction(
    "Remove your HubSpot token? Simulations that target HubSpot stop until you store one again.",
    "Remove token",
  );
  if (!sure) return;
  try {
    await api("DELETE", TOKEN_PATH);
    renderToken(null);
    $("token-result").textContent = "Removed your HubSpot token.";
  } catch (error) {
    if (error.status === 404) renderToken(null);
    $("token-error").textContent = error.message;
  }
}

function installTokenForm() {
  $("open-token").addEventListener("click", () => showTokenView());
  $("token-form").addEventListener("submit", saveToken);
  $("token-remove").addEventListener("click", removeToken);
}
