/// The examples the doc tests do not run, each with why. A block marked `not-run ID` must have
/// its ID here, and every ID here must be used; the block is still checked statically (shell
/// syntax, the options of leadctl, leadrouterd and leadrouter-bench per `--help`, repository
/// paths, Python syntax). Review additions: an example that can run should run.
enum DocAllowlist {
    static let reasons: [String: String] = [
        // README: `scripts/run` runs the daemon until Ctrl-C (the quick try runs it, as an
        // example of its own), and `scripts/test` is this test suite.
        "run-and-test": "runs until Ctrl-C, or is the test suite itself",
        // README: `some-exporter` stands for the reader's own program; the first line is the
        // quick try's publish with another file.
        "placeholder-exporter": "a placeholder for the reader's program",
        // README: the lines that differ from the XPUB example above it (it uses its `ctx`,
        // `json`, `time` and `lead`); parsed as Python.
        "python-fragment-pub": "a fragment of the example above",
        // README: a release build and about 2 minutes on both cores; leadrouter-bench's
        // options are checked against its --help.
        "benchmark": "minutes long, needs both cores",
        // README: installs into /usr/local and /etc with sudo, adds a system user and starts a
        // systemd unit.
        "systemd-install": "changes the host: sudo, useradd, systemctl",
        // README: builds the Debian package (a release build with the static runtime, minutes;
        // installs dpkg-dev with apt); PackageTests build it and check it.
        "package-build": "minutes long; PackageTests run it",
        // README: apt install of the package and systemctl enable on a host; PackageTests install
        // it under dpkg --root.
        "package-install": "changes the host: apt, systemctl",
        // README: systemctl reload of the unit; the reload itself is run by the example after it
        // (SIGHUP to a daemon) and by ReloadTests.
        "systemd-reload": "systemctl",
        // operations.md: a scrape job for Prometheus's own config (not ours); MonitoringTests
        // checks its job name is the one the alerting rules select.
        "prometheus-scrape-job": "Prometheus's config, not LeadRouter's",
        // operations.md: promtool on the monitoring files and on a live scrape (curl to a
        // daemon with metrics.bind); MonitoringTests and MetricsTests run these same checks.
        "promtool-checks": "needs a daemon with metrics on; MonitoringTests runs them",
        // protocol.md: two lines of a subscriber (a `sub` socket made elsewhere); parsed as Python.
        "python-fragment-subscribe": "a fragment",
        // routing.md: a picture of a lead's states, not a command or output.
        "diagram-lead-life": "a diagram",
        // routing.md: the command's form, with LEAD_ID a placeholder; the examples after it run
        // it on real leads.
        "placeholder-explain": "a placeholder; run below",
        // routing.md: the command's form, with NEW.yaml and LEADS.jsonl placeholders; the
        // example after it runs it on the example config and leads.
        "placeholder-dry-run": "a placeholder; run below",
        // durability.md: restarts a systemd unit (the --check line is run elsewhere).
        "systemd-restart": "systemctl",
        // durability.md: stops and starts a systemd unit around a copy with sudo.
        "backup-stopped": "systemctl, sudo",
        // durability.md: stops a systemd unit, replaces its store with sudo, chowns it to the
        // leadrouter system user, starts it.
        "restore": "systemctl, sudo, chown to a system user",
        // benchmarks.md: a release build and about 2 minutes on both cores.
        "benchmark-run": "minutes long, needs both cores",
        // benchmarks.md: the same with options; leadrouter-bench's options are checked against
        // its --help.
        "benchmark-examples": "minutes long, needs both cores",
        // architecture.md: a picture of threads and sockets, not a command or output.
        "diagram-threads": "a diagram",
        // fuzzing.md: a separate instrumented release build, then 30 s or more per target.
        "fuzz-run": "a separate build, minutes long",
        // fuzzing.md: the instrumented release build that scripts/fuzz runs.
        "fuzz-build": "a separate build, minutes long",
    ]
}
