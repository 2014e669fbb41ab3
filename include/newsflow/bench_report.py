"""The benchmark's report: the machine it ran on and the table of figures against the targets.
"""

import os
from typing import Any

import psutil

from newsflow import settings
from newsflow.bench_peer import NEWSPLEASE_VERSION


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and load of this machine."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model,
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def print_report(figures: dict[str, Any]) -> None:
    """The table of figures against the targets."""
    main = figures["runs"][str(figures["pages"])]
    box = figures["machine"]
    lines = [
        f"newsflow benchmark: {figures['pages']} pages ({figures['corpus_pages']} corpus pages"
        f" replicated) on {figures['hosts']} loopback hosts, host interval"
        f" {settings.HOST_INTERVAL:g} s, {figures['settings']}",
        f"machine: {box['cores']} cores, {box['cpu']}, {box['ram_gib']} GiB RAM;"
        f" load average at the end {box['load_average']}",
        "",
        f"end to end (Airflow LocalExecutor, scheduler): {main['articles']} articles in"
        f" {main['wall_seconds']} s = {main['articles_per_s']} articles/s"
        f" ({main['articles_per_s'] * 3600:,.0f}/hour); rejects {main['rejects'] or 'none'}",
        f"  load average during the run: {main['load_average_before']} before,"
        f" {main['load_average_after']} after",
        f"  {'stage':<12}{'seconds':>9}{'items':>7}{'items/s':>9}{'CPU s':>8}"
        f"{'CPU s/article':>14}{'peak RSS MiB: task process':>28}{'with its workers':>18}",
    ]
    for name, stage in main["stages"].items():
        lines.append(f"  {name:<12}{stage['seconds']:>9}{stage['items']:>7}"
                     f"{stage['items_per_s']:>9}{stage['cpu_seconds']:>8}"
                     f"{stage['cpu_seconds'] / max(main['articles'], 1):>14.4f}"
                     f"{stage['peak_rss_mib'] or '-':>28}"
                     f"{stage['peak_rss_all_processes_mib'] or '-':>18}")
    fetch = main["stages"].get("fetch", {})
    if fetch.get("cpu_seconds_workers"):
        lines.append(
            f"  (fetch's CPU includes {fetch['cpu_seconds_workers']} s in its worker processes:"
            " the pages it cleaned while waiting on hosts; clean's is the rest of the cleaning)")
    lines.append(
        f"  CPU per article, every process of the deployment: {main['cpu_seconds']} s /"
        f" {main['articles']} = {main['cpu_seconds'] / max(main['articles'], 1):.3f} s"
        f" ({main['cpu']}; target <= 0.12 s): "
        + ("MET" if main["cpu_seconds"] <= 0.12 * main["articles"] else "NOT MET"))
    lines.append(f"  {'between tasks (scheduling)':<28}{main['between_tasks_seconds']:>9}")
    polite = main["politeness"]
    if polite:
        lines.append(
            f"  politeness: page requests spanned {polite['page_requests_span_seconds']} s of the"
            f" fetch task's {polite['fetch_seconds']} s; no request in flight for"
            f" {polite['waiting_seconds']} s = {polite['share_of_wall']:.0%} of the wall time"
            f" (busiest host {polite['busiest_host_pages']} pages at"
            f" {polite['interval_seconds']:g} s)")
    floor = figures.get("floor")
    if floor:
        ratio = main["articles_per_s"] / floor["articles_per_s"]
        scaled_cpu = floor["cpu_seconds"] * main["pages"] / floor["pages"]
        overhead = (main["cpu_seconds"] - scaled_cpu) / scaled_cpu
        lines += [
            "",
            f"component floor (one process, no Airflow, no staging): {floor['articles']} articles"
            f" in {floor['seconds']} s = {floor['articles_per_s']} articles/s;"
            f" CPU {floor['cpu_seconds']} s",
            "  " + ", ".join(f"{k} {v['seconds']} s ({v['items_per_s']}/s)"
                             for k, v in floor["stages"].items()),
            f"  end to end / floor = {ratio:.2f}x (target >= 1.6x): "
            + ("MET" if ratio >= 1.6 else "NOT MET"),
            f"  deployment CPU {main['cpu_seconds']} s ({main['cpu']}) vs the components'"
            f" {scaled_cpu:.0f} s for {main['pages']} pages: overhead {overhead:+.0%}"
            " (target <= 10%): " + ("MET" if overhead <= 0.10 else "NOT MET"),
            f"  slowest page: {floor['slowest_page']['url']} {floor['slowest_page']['seconds']} s"
            f" {floor['slowest_page']['stages']}",
        ]
    compared = figures.get("enrichment_cpu_by_stage")
    if compared:
        runs = compared["per_article"]
        lines += ["", f"enrichment CPU s per article by stage, before/after (the floor's"
                      f" {compared['articles']} articles, in this process, mean of"
                      f" {compared['rounds']} rounds; same results:"
                      f" {'yes' if compared['same_results'] else 'NO'}):"]
        for stage in [*dict.fromkeys(stage for run in runs.values() for stage in run
                                     if stage != "total"), "total"]:
            lines.append(f"  {stage:<28}" + "".join(
                f"{name} {runs[name].get(stage, '-')}  " for name in runs))
        before = runs["before"]["total"]
        lines += [f"  {name}: {run['total'] / before:.0%} of before's CPU per article"
                  f" (target <= 50%)" for name, run in runs.items() if name != "before"]
    load = figures.get("load_alone")
    if load:
        lines += [
            "",
            f"load alone: {load['articles']} articles with {sum(load['child_rows'].values())}"
            f" child rows {load['child_rows']} in {load['seconds']} s ="
            f" {load['articles_per_s']} articles/s (target >= 5,000/s): "
            + ("MET" if load["articles_per_s"] >= 5000 else "NOT MET"),
            f"  with near-duplicate clustering (the whole load task):"
            f" {load['with_duplicates_seconds']} s ="
            f" {load['with_duplicates_articles_per_s']} articles/s",
        ]
    peer = figures.get("peer")
    if peer:
        ours, one = peer["newsflow"], peer["newsflow_one_process"]
        theirs = peer["newsplease"]
        ratio = ours["articles_per_s"] / theirs["articles_per_s"] if theirs["articles_per_s"] \
            else float("inf")
        lines += [
            "",
            f"peer on equal work ({theirs['urls']} of the same URLs, sampled):",
            f"  news-please {NEWSPLEASE_VERSION} from_urls: {theirs['articles']} articles in"
            f" {theirs['seconds']} s = {theirs['articles_per_s']} articles/s",
            f"  newsflow fetch+clean+fields, enrichment off, {ours['processes']} processes"
            f" (news-please uses a process per core too): {ours['articles']} articles in"
            f" {ours['seconds']} s ="
            f" {ours['articles_per_s']} articles/s; one process {one['articles_per_s']}"
            " articles/s",
            f"  newsflow / news-please = {ratio:.1f}x (target >= 10x): "
            + ("MET" if ratio >= 10 else "NOT MET"),
        ]
    lines += ["", "scaling (end to end, fresh database each):"]
    for count, run in sorted(figures["runs"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"  N={int(count):>5}: {run['articles']:>5} articles in"
                     f" {run['wall_seconds']:>6} s = {run['articles_per_s']:>6} articles/s")
    print("\n".join(lines))
