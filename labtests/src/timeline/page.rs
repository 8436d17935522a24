//! The timeline page: one self-contained HTML file (inline CSS, script and data, nothing
//! fetched). The data is the `Timeline` as JSON; `page.js` draws it on a canvas, so a run of
//! tens of thousands of items opens at once, and zoom and pan only redraw.

use super::model::Timeline;

/// The failing check's colour: the same red as the violation view's operation that cannot be
/// placed, so "red bar" means "here it failed" in both views (and the browser check looks for it).
pub const FAILURE_COLOUR: &str = lincheck::view::BLOCKED_FILL;

const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// The page for `t`.
pub fn render(t: &Timeline) -> String {
    let data = serde_json::to_string(t).expect("a timeline serializes");
    // Inside <script>, "</" could end the element early; JSON allows "<\/" for it.
    let data = data.replace("</", "<\\/");
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>timeline</title>
<style>
{STYLE}</style></head>
<body data-fail-colour="{FAILURE_COLOUR}">
<h1 id="title"></h1>
<div id="summary"></div>
<div id="window"></div>
<div id="failure"><b></b> <button id="jump">Jump to the failure</button><pre></pre></div>
<div id="controls"><button id="zin">zoom in</button><button id="zout">zoom out</button><button id="fit">whole run</button>
<span id="range"></span></div>
<div id="filters"></div>
<div class="legend">Lanes: a node each (peers first, then other nodes, kv clients, the test's own node). Top strip:
the peer's answer to state() (orange: leader; blue-grey: not leader, shade alternating by term). Green ticks: applied
indices (purple: snapshot). Arrows: request to the server, reply back (dashed with &#x2716;: lost). Grey band: node
down; purple: paused; light grey: disconnected; orange strip: outgoing link cut; yellow/blue strip: partition side.
Marks: &#x2716; crash, &#x25B2; restart, &#x25C6; request duplicated, &#x25C7; late duplicate arrives. Wheel or +/-
zooms, drag or arrow keys pan, hover for details.</div>
<canvas id="tl"></canvas>
<div id="tip"></div>
<script type="application/json" id="data">{data}</script>
<script>
{SCRIPT}</script>
</body></html>
"#
    )
}
