// Builds the panel's typed components into dist/ (served at /static/): one bundle per page,
// minified, with source maps. Run by scripts/setup; `npm run check` type-checks (tsc).
import { build } from "esbuild";

const pages = ["agent", "login", "wall", "history", "quality"];

await build({
  entryPoints: pages.map((page) => `src/${page}.tsx`),
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outdir: "dist",
  sourcemap: true,
  logLevel: "warning",
});
