/**
 * A typed client for the Proxmox VE REST API ({@code https://HOST:8006/api2/json}), as a pve-cri
 * backend needs it. No Kubernetes or CRI knowledge lives here.
 *
 * <p>Start with {@link io.pvecri.proxmox.PveClient#create(PveClientConfig)}; the config names the
 * endpoint, the {@link io.pvecri.proxmox.ApiToken} (secret read from a file, never logged) and the
 * {@link io.pvecri.proxmox.TlsTrust} (SHA-256 fingerprint pin or CA file). The client hands out one
 * small API object per area: {@link io.pvecri.proxmox.ClusterApi}, {@link io.pvecri.proxmox.LxcApi},
 * {@link io.pvecri.proxmox.TaskApi}, {@link io.pvecri.proxmox.StorageApi}. Asynchronous calls return a
 * {@link io.pvecri.proxmox.Upid}; {@link io.pvecri.proxmox.TaskWaiter} polls it to its end.
 *
 * <p>Every failure is a {@link io.pvecri.proxmox.PveException} subtype, classified from the HTTP status
 * <em>and</em> PVE's message text (PVE reports "not found", "locked" and "already exists" as HTTP 500).
 * Mutating calls are retried on lock contention ({@link io.pvecri.proxmox.LockRetry}), limited per node,
 * and every call is reported to a {@link io.pvecri.proxmox.PveCallListener} and logged once, with the
 * token secret redacted.
 *
 * <p>{@link io.pvecri.proxmox.emulator} holds an in-process PVE API emulator (HTTPS, real-shaped
 * responses, fault injection) used by the tests and reusable by the daemon.
 */
package io.pvecri.proxmox;
