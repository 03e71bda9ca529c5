// channelhub admin: a little JavaScript of our own, only to make pages nicer; every page
// works without it. Tabs on the product page, and confirmation for destructive buttons.
document.addEventListener("click", (event) => {
  const tab = event.target.closest("[data-tab]");
  if (tab) {
    const group = tab.closest("[data-tabs]");
    for (const button of group.querySelectorAll("[data-tab]")) {
      const on = button === tab;
      button.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById(button.dataset.tab).hidden = !on;
    }
  }
  const confirmText = event.target.closest("[data-confirm]")?.dataset.confirm;
  if (confirmText && !window.confirm(confirmText)) event.preventDefault();
});
