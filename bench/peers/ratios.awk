# The peers scripts' summary: their lines read "round R NAME RATE unit US µs/unit ...". For each
# NAME but the peer (-v peer=NAME), the medians (and ranges) of the per-round ratios against the
# peer's run of the same round: by rate (ours over the peer's) and by CPU a unit (the peer's over
# ours; above 1 is less CPU than the peer).
$1 == "round" { rate[$2, $3] = $4; us[$2, $3] = $6; names[$3] = 1; rounds[$2] = 1 }

function sort(a, n,   i, j, t) {
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
}
function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }

END {
  for (name in names) {
    if (name == peer) continue
    n = 0
    for (r in rounds) {
      if (!((r, name) in rate) || !((r, peer) in rate) || us[r, name] <= 0) continue
      n++
      byRate[n] = rate[r, name] / rate[r, peer]
      byCpu[n] = us[r, peer] / us[r, name]
    }
    if (n == 0) continue
    sort(byRate, n)
    sort(byCpu, n)
    printf "%s / %s: %.2fx by rate (%.2f-%.2f), %.2fx by CPU a unit (%.2f-%.2f); medians of %d rounds\n",
      name, peer, median(byRate, n), byRate[1], byRate[n], median(byCpu, n), byCpu[1], byCpu[n], n
  }
}
