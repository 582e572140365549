package io.pvecri.proxmox;

/**
 * One line of {@code GET /nodes/{node}/tasks/{upid}/log}: {@code {"n":1,"t":"text"}}, n 1-based.
 *
 * @param n    line number, starting at 1
 * @param text the line
 */
public record TaskLogLine(int n, String text) {
}
