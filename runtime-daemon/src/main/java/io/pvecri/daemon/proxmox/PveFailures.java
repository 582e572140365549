package io.pvecri.daemon.proxmox;

import io.pvecri.proxmox.PveException;

/** Turns PVE failures into messages an operator can act on. */
final class PveFailures {
    private PveFailures() {}

    static String describe(Throwable t) {
        return switch (t) {
            case PveException.PermissionDenied p -> "the API token lacks a privilege: " + p.pveMessage()
                    + " (grant it with 'pveum acl modify <path> --tokens <token> --roles <role>'; docs/proxmox.md lists what pve-cri needs)";
            case PveException.AuthFailed a -> "PVE refused the API token (" + a.pveMessage()
                    + "); check proxmox.tokenId and the secret in proxmox.tokenSecretFile";
            case PveException.TaskFailed f -> "task " + f.upid() + " failed: " + f.exitStatus()
                    + (f.logTail().isEmpty() ? "" : " (log: " + String.join(" | ", f.logTail()) + ")");
            case PveException.Unavailable u -> "PVE API unreachable: " + u.getMessage();
            case PveException p -> p.getMessage();
            case java.io.UncheckedIOException u -> u.getCause().getMessage();
            default -> t.toString();
        };
    }
}
