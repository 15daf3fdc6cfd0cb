"""The report page's style sheet: fluid from a phone (400 px) to a wide screen, and a print layout."""

STYLE = """
:root { color-scheme: light; --ink: #1d2a24; --muted: #5b6b63; --line: #d9e2dd; --bg: #f6f8f7; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); overflow-wrap: anywhere; }
main { max-width: 1600px; margin: 0 auto; padding: 14px; }
section, figure, header, .cards > *, .charts > * { min-width: 0; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
.summary, .note, footer { color: var(--muted); }
.note { font-size: 13px; margin: 6px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 190px), 1fr)); gap: 10px;
  margin: 16px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 18px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
.bars { display: grid; grid-template-columns: minmax(0, 12rem) minmax(2rem, 1fr) auto; gap: 5px 8px;
  align-items: center; font-size: 13px; }
.bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar-value { white-space: nowrap; font-variant-numeric: tabular-nums; }
svg.bar { display: block; width: 100%; height: 14px; }
svg.series { display: block; width: 100%; height: 150px; border-bottom: 1px solid #8a9a92; }
.axis { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; color: var(--muted); }
.peak { font-size: 13px; color: var(--muted); margin-bottom: 4px; }
.legend { font-size: 12px; color: var(--muted); margin-top: 6px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; }
.swatch:first-child { margin-left: 0; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow-wrap: normal; }
thead th { background: #eef3f0; text-align: right; vertical-align: bottom; }
thead th:first-child, tbody th, td.text { text-align: left; }
tbody th { font-weight: 500; }
td { text-align: right; font-variant-numeric: tabular-nums; }
.tree th { padding-left: calc(8px + var(--depth) * 18px); }
.pages > .page { display: none; }
.pages > .page:target, .pages:not(:has(.page:target)) > .page:first-child { display: block; }
.pager { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; font-size: 14px; }
.pager a { padding: 2px 9px; border: 1px solid var(--line); border-radius: 6px; background: #fff;
  color: var(--ink); text-decoration: none; }
@media (max-width: 520px) {
  .bars { grid-template-columns: minmax(2rem, 1fr) auto; }
  .bar-label { grid-column: 1 / -1; margin-top: 4px; }
  h1 { font-size: 20px; }
}
@media (min-width: 900px) {
  main { padding: 24px; }
  h1 { font-size: 26px; }
  .card .value { font-size: 19px; }
}
@media print {
  @page { margin: 14mm; }
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .pager { display: none; }
  .pages > .page { display: block; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  figure, .card, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  .charts { grid-template-columns: 1fr 1fr; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
