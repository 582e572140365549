/**
 * An in-process Proxmox VE API emulator: an HTTPS server answering the subset of {@code /api2/json}
 * that {@link io.pvecri.proxmox.PveClient} uses, with PVE's real response shapes (the {@code data}
 * envelope, UPIDs, task status and log objects, HTTP status + reason phrase + JSON {@code message},
 * {@code errors} for parameter failures) and PVE's own error texts, quoted from the Perl sources.
 *
 * <p>It lives in {@code src/main} so the daemon's {@code emulate-pve} command can serve it; the tests
 * drive it through {@link io.pvecri.proxmox.emulator.PveEmulator}. The state model
 * ({@link io.pvecri.proxmox.emulator.EmulatedCluster}: VMIDs, configs with SHA-1 digests, config flocks
 * and {@code lock:} properties, tasks with logs, storages and volumes) is separate from the HTTP front
 * ({@code HttpFront}, {@code Router}); guests are in memory only for now: "start" flips a flag. A later
 * emulator that runs real LXC replaces what the task workers do, not the API surface.
 *
 * <p>{@link io.pvecri.proxmox.emulator.Faults} injects failures: scripted error replies (lock timeouts,
 * 500s, 596), dropped connections, delays, failing and slow tasks, stale {@code nextid} answers.
 */
package io.pvecri.proxmox.emulator;
