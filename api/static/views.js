// Views beside a simulation's page (the token form, the dead-letter summary) and the confirm
// dialog every destructive action goes through. Loaded before app.js, whose helpers (api, el, $,
// state …) these functions use once the page has started.
"use strict";

const OPERATOR_VIEWS = ["token-panel", "dlq-summary-panel"];

function hideOperatorViews() {
  for (const id of OPERATOR_VIEWS) document.getElementById(id).hidden = true;
}

function showOperatorView(id) {
  stopPolling();
  state.selected = null;
  renderList();
  for (const other of ["create-panel", "detail", "hello"]) $(other).hidden = true;
  hideOperatorViews();
  $(id).hidden = false;
}

// Resolves true once the user confirms, false on Cancel or Escape.
function confirmAction(message, okLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-message").textContent = message;
  $("confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $("confirm-ok").removeEventListener("click", ok);
      $("confirm-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const ok = () => finish(true);
    const cancel = (event) => {
      if (event) event.preventDefault();
      finish(false);
    };
    $("confirm-ok").addEventListener("click", ok);
    $("confirm-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
  });
}

// Called once by app.js after its helpers exist, and after each sign-in with the user known.
function installOperatorViews() {
  installTokenForm();
  installSegments();
  installDeadLetterViews();
}

function showOperatorEntries(role) {
  $("open-dlq-summary").hidden = role !== "boss";
}
