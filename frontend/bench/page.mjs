// The panel benchmarks' page (panel.mjs, grafana-table.mjs): `html` and `files` ({ path: [file,
// content type] }) served from 127.0.0.1 on a free port, opened in headless Chromium (Debian's,
// driven by playwright-core) once the page sets window.benchReady. Returns { page, problems,
// close }; close() stops the browser and the server.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { launch } from '../../e2e/specs/support.mjs';

export async function openBenchPage(html, files, viewport) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(html);
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': file[1] });
    res.end(await readFile(file[0]));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { browser, page, problems } = await launch();
  const close = async () => {
    await browser.close();
    server.close();
  };
  try {
    if (viewport) await page.setViewportSize(viewport);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  } catch (error) {
    await close();
    throw error;
  }
  return { page, problems, close };
}
