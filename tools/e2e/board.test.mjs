// End-to-end tests of the board page in headless Chromium (the
// distribution's package; puppeteer-core drives it, nothing is downloaded).
//
//   BOARD_URL=http://127.0.0.1:PORT/ CHROMIUM=/usr/bin/chromium node --test board.test.mjs
//
// check.sh starts the board and sets BOARD_URL. Screenshots go to
// screenshots/ (gitignored).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const URL = process.env.BOARD_URL;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
const TIMEOUT = 10_000;
const stamp = Date.now().toString(36);

let browser;
let alice;
let bob;

async function open(token, user) {
  const context = await browser.createBrowserContext(); // a separate session
  const page = await context.newPage();
  await page.setViewport({ width: 1100, height: 700 });
  page.on("pageerror", (e) => console.error(`[${user}] page error:`, e.message));
  await page.goto(URL, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.ready === "1", { timeout: TIMEOUT });
  await page.select("#token", token);
  await page.waitForFunction(
    (u) => document.body.dataset.ready === "2" && document.body.dataset.user === u,
    { timeout: TIMEOUT },
    user,
  );
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function noteTitles(page) {
  return page.$$eval("#list li .title", (els) => els.map((e) => e.textContent));
}

async function waitForTitle(page, title) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#list li .title")].some((e) => e.textContent === t),
    { timeout: TIMEOUT },
    title,
  );
}

before(async () => {
  assert.ok(URL, "BOARD_URL is not set (run check.sh)");
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  alice = await open("alice-token", "alice");
  bob = await open("bob-token", "bob");
});

after(async () => {
  await browser?.close();
});

test("a note created and edited in one session appears and changes in the other without a reload", async () => {
  const title = `Groceries ${stamp}`;
  await alice.type("#title", title);
  await alice.type("#content", "milk, bread, tea");
  await alice.click("#save");
  await waitForTitle(alice, title);
  await waitForTitle(bob, title);
  const bobNavigations = await bob.evaluate(() => performance.getEntriesByType("navigation").length);

  // Alice edits it.
  const li = await alice.waitForSelector(`xpath///li[span[@class="title" and text()="${title}"]]`);
  await (await li.$("button.edit")).click();
  await alice.waitForFunction(() => document.querySelector("#save").textContent === "Save");
  const edited = `${title} (edited)`;
  await alice.$eval("#title", (e) => (e.value = ""));
  await alice.type("#title", edited);
  await alice.click("#save");
  await waitForTitle(bob, edited);
  assert.ok(!(await noteTitles(bob)).includes(title), "the old title is gone in bob's list");
  assert.equal(await bob.evaluate(() => performance.getEntriesByType("navigation").length), bobNavigations);
  await shot(alice, "alice-notes");
  await shot(bob, "bob-notes");
});

test("a chat message reaches both sessions", async () => {
  const text = `hello from alice ${stamp}`;
  await alice.type("#say", text);
  await alice.click("#chat-form button");
  for (const page of [alice, bob]) {
    await page.waitForFunction(
      (t) => [...document.querySelectorAll("#messages li")].some((li) => li.textContent === `alice${t}`),
      { timeout: TIMEOUT },
      text,
    );
  }
  await shot(bob, "bob-chat");
});

test("a validation error shows at its field", async () => {
  await alice.$eval("#title", (e) => (e.value = ""));
  await alice.click("#save");
  const message = await alice.waitForFunction(
    () => document.querySelector('.error[data-field="title"]').textContent,
    { timeout: TIMEOUT },
  );
  assert.match(await message.jsonValue(), /\S/);
  assert.equal(await alice.$eval("#title", (e) => e.classList.contains("invalid")), true);
  assert.equal(await alice.$eval('.error[data-field="detail"]', (e) => e.textContent), "");
  await shot(alice, "alice-validation");
});
