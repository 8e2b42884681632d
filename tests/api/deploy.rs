//! The deployment files in `deploy/`: the systemd unit passes
//! `systemd-analyze verify` (where systemd is installed) and keeps its
//! hardening; the container recipe says it is untested.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../../deploy/tollgate.service");
const CONTAINERFILE: &str = include_str!("../../deploy/Containerfile");

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("systemd-analyze is not installed: the unit is not verified here");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/verify-unit.sh");
    let out = Command::new("sh")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tollgate"))
        .output()
        .expect("run deploy/verify-unit.sh");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_systemd_unit_keeps_its_hardening_and_shutdown_settings() {
    let directives: Vec<&str> = UNIT
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for wanted in [
        "DynamicUser=yes",
        "StateDirectory=tollgate",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "KillMode=mixed",
        "TimeoutStopSec=60",
        "ExecStart=/usr/local/bin/tollgate serve",
        "Environment=TOLLGATE_DATABASE_URL=sqlite:///var/lib/tollgate/tollgate.db",
    ] {
        assert!(directives.contains(&wanted), "the unit lacks {wanted}");
    }
    // setrlimit (the policy evaluators' memory limit) must stay allowed.
    assert!(
        !directives
            .iter()
            .any(|d| d.starts_with("SystemCallFilter=~") && d.contains("@resources")),
        "the evaluators need setrlimit"
    );
}

#[test]
fn the_container_recipe_says_it_is_untested() {
    assert!(CONTAINERFILE.contains("UNTESTED"), "{CONTAINERFILE}");
}
