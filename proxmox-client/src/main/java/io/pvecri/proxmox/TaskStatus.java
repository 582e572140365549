package io.pvecri.proxmox;

import java.util.Objects;

/**
 * One answer of {@code GET /nodes/{node}/tasks/{upid}/status}.
 *
 * @param upid  the task
 * @param state running, or how it ended
 * @param user  owning user ({@code user} field; for token tasks PVE moves the token name to {@code tokenid})
 */
public record TaskStatus(Upid upid, TaskState state, String user) {
    public TaskStatus {
        Objects.requireNonNull(upid, "upid");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(user, "user");
    }
}
