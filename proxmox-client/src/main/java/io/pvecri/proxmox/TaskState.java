package io.pvecri.proxmox;

import java.util.Objects;

/**
 * Where a PVE task stands, from {@code GET /nodes/{node}/tasks/{upid}/status}: {@code status} is
 * {@code running} or {@code stopped}; a stopped task's {@code exitstatus} is {@code OK},
 * {@code WARNINGS: <n>} (both success, pve-common {@code PVE::UPID::status_is_error}) or the error text
 * (also {@code unexpected status} when the log has no final line).
 */
public sealed interface TaskState {

    /** Still running. */
    record Running() implements TaskState {
    }

    /** Finished with {@code OK}. */
    record Ok() implements TaskState {
    }

    /** Finished with {@code WARNINGS: n}: a success that logged warnings. */
    record Warnings(int count) implements TaskState {
    }

    /** Finished with an error; {@code exitStatus} is PVE's text. */
    record Failed(String exitStatus) implements TaskState {
        public Failed {
            Objects.requireNonNull(exitStatus, "exitStatus");
        }
    }

    /** True once the task has stopped, successfully or not. */
    default boolean finished() {
        return !(this instanceof Running);
    }

    /** True for {@link Ok} and {@link Warnings}. */
    default boolean succeeded() {
        return this instanceof Ok || this instanceof Warnings;
    }

    /** The exit status text as PVE writes it, or {@code null} while running. */
    default String exitStatus() {
        return switch (this) {
            case Running r -> null;
            case Ok o -> "OK";
            case Warnings w -> "WARNINGS: " + w.count();
            case Failed f -> f.exitStatus();
        };
    }

    /**
     * Maps PVE's {@code status} / {@code exitstatus} pair. A stopped task without exit status is
     * {@code Failed("unexpected status")}, as PVE itself reports a log without a final line.
     */
    static TaskState of(String status, String exitStatus) {
        if ("running".equals(status)) {
            return new Running();
        }
        if (exitStatus == null || exitStatus.isEmpty()) {
            return new Failed("unexpected status");
        }
        if (exitStatus.equals("OK")) {
            return new Ok();
        }
        if (exitStatus.matches("WARNINGS: [0-9]{1,9}")) {
            return new Warnings(Integer.parseInt(exitStatus.substring("WARNINGS: ".length())));
        }
        return new Failed(exitStatus);
    }
}
