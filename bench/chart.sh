#!/usr/bin/env bash
# bench/chart.sh RESULTS.txt [OUT.svg] - an SVG bar chart of where strata stands against Docker.
#
# Reads either table the bench scripts write:
#   - bench/run.sh's markdown table: `| metric | strata | Docker | strata/Docker | better | host |`,
#     with `| **Section** | … |` rows as headings (drawn as headings in the chart);
#   - bench/containers.sh's plain table: `metric strata docker strata/docker better`.
# One bar per metric that has both figures: the factor by which strata is better (bar to the
# right, green) or worse (to the left, red) than Docker, on a log scale centred on 1x ("same").
# The factor is docker/strata for lower-is-better metrics and strata/docker for higher-is-better
# ones. Rows without both figures (host references, NA) are left out.
# Default output: RESULTS with .svg in place of .txt.
set -euo pipefail
in=${1:?usage: bench/chart.sh RESULTS.txt [OUT.svg]}
out=${2:-${in%.txt}.svg}
title="strata against $(sed -n '1s/.*strata against \([^,:]*\).*/\1/p' "$in" | grep . || echo Docker): $(basename "$in" .txt)"

awk -v title="$title" '
  function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/`/, "", s); return s }
  function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
  function num(s) { return s ~ /^[0-9.]+$/ && s + 0 > 0 }
  function keep(label, s, d, better) {
    if (!num(s) || !num(d)) return
    if (head != "") { n++; kind[n] = "h"; name[n] = head; head = "" }
    n++; kind[n] = "b"; name[n] = label; sv[n] = s; dv[n] = d
    fac[n] = (better == "lower") ? d / s : s / d
  }
  /^\|/ {
    line = $0; gsub(/\\\|/, "\001", line)   # an escaped \| inside a cell
    split(line, col, "|")
    label = trim(col[2]); gsub(/\001/, "|", label)
    if (label == "metric" || label ~ /^-+$/ || label ~ /^:?-/) next
    if (label ~ /^\*\*.*\*\*$/) { head = substr(label, 3, length(label) - 4); next }
    b = trim(col[6])
    if (b == "lower" || b == "higher") keep(label, trim(col[3]), trim(col[4]), b)
    next
  }
  /^#/ || $1 == "metric" { next }
  $5 == "lower" || $5 == "higher" { keep($1, $2, $3, $5) }
  END {
    rowh = 26; top = 64; left = 470; mid = 790; half = 260   # half = pixels for 100x
    h = top + n * rowh + 50; w = mid + half + 300
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>\n", esc(title)
    printf "<text x=\"10\" y=\"44\" fill=\"#555\">bar = how many times better (right, green) or worse (left, red) strata is; log scale; figures: strata vs Docker</text>\n"
    split("0.01 0.1 1 10 100", g, " ")
    for (i = 1; i <= 5; i++) {
      x = mid + log(g[i]) / log(100) * half
      printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ccc\"/>\n", x, top - 5, x, top + n * rowh
      lbl = (g[i] < 1) ? sprintf("%gx worse", 1 / g[i]) : (g[i] == 1 ? "same" : sprintf("%gx better", g[i]))
      printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", x, top + n * rowh + 18, lbl
    }
    for (i = 1; i <= n; i++) {
      y = top + (i - 1) * rowh
      if (kind[i] == "h") {
        printf "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y + 18, esc(name[i])
        continue
      }
      f = fac[i]; if (f > 100) f = 100; if (f < 0.01) f = 0.01
      x = mid + log(f) / log(100) * half
      x0 = (x < mid) ? x : mid; bw = (x < mid) ? mid - x : x - mid
      if (bw < 1) bw = 1
      printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + 17, esc(name[i])
      printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x0, y + 5, bw, rowh - 9, (fac[i] >= 1) ? "#2e7d32" : "#c62828"
      lbl = (fac[i] >= 1) ? sprintf("%.2fx better (%s vs %s)", fac[i], sv[i], dv[i]) : sprintf("%.2fx worse (%s vs %s)", 1 / fac[i], sv[i], dv[i])
      lx = (fac[i] >= 1) ? x0 + bw + 6 : x0 - 6
      printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" fill=\"#222\">%s</text>\n", lx, y + 17, (fac[i] >= 1) ? "start" : "end", lbl
    }
    printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", mid, top - 5, mid, top + n * rowh
    print "</svg>"
  }' "$in" >"$out"
echo "$out"
