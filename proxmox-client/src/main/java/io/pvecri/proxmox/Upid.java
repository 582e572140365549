package io.pvecri.proxmox;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PVE task id ("unique process id"), exactly as pve-common {@code PVE::UPID} encodes it:
 * {@code UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:}.
 *
 * <p>pstart is the worker's start time in clock ticks since boot and may need 9 hex digits after
 * ~497 days of uptime; the id may be empty; the user is {@code user@realm} or {@code user@realm!token}.
 * {@link #toString()} gives the canonical (upper-case hex) text, equal to PVE's.
 *
 * @param node      node name
 * @param pid       worker process id
 * @param pstart    worker process start, clock ticks since boot
 * @param starttime task start, epoch seconds
 * @param type      worker type, e.g. {@code vzcreate}, {@code vzstart}, {@code imgcopy}
 * @param id        worker id, usually the VMID; may be empty
 * @param user      owner, e.g. {@code root@pam!pvecri}
 */
public record Upid(String node, long pid, long pstart, long starttime, String type, String id, String user) {

    // pve-common src/PVE/UPID.pm decode()
    private static final Pattern UPID = Pattern.compile(
            "^UPID:([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
                    + "([^:\\s/]+):([^:\\s/]*):([^:\\s/]+):$");
    private static final Pattern NODE = Pattern.compile("^[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?$");
    private static final Pattern FIELD = Pattern.compile("^[^:\\s/]*$");

    public Upid {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(user, "user");
        if (!NODE.matcher(node).matches()) {
            throw new IllegalArgumentException("node: not a valid node name: '" + node + "'");
        }
        if (type.isEmpty() || !FIELD.matcher(type).matches()) {
            throw new IllegalArgumentException("type: empty or contains ':', '/' or whitespace: '" + type + "'");
        }
        if (!FIELD.matcher(id).matches()) {
            throw new IllegalArgumentException("id: contains ':', '/' or whitespace: '" + id + "'");
        }
        if (user.isEmpty() || !FIELD.matcher(user).matches()) {
            throw new IllegalArgumentException("user: empty or contains ':', '/' or whitespace: '" + user + "'");
        }
        checkRange("pid", pid, 0xFFFF_FFFFL);
        checkRange("pstart", pstart, 0xF_FFFF_FFFFL);
        checkRange("starttime", starttime, 0xFFFF_FFFFL);
    }

    private static void checkRange(String name, long value, long max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(name + ": out of range 0.." + max + ": " + value);
        }
    }

    /**
     * Parses a UPID.
     *
     * @throws IllegalArgumentException with PVE's wording ({@code unable to parse worker upid '…'})
     */
    public static Upid parse(String text) {
        Matcher m = UPID.matcher(Objects.requireNonNull(text, "upid"));
        if (!m.matches()) {
            throw new IllegalArgumentException("unable to parse worker upid '" + text + "'");
        }
        return new Upid(m.group(1), Long.parseLong(m.group(3), 16), Long.parseLong(m.group(4), 16),
                Long.parseLong(m.group(5), 16), m.group(6), m.group(7), m.group(8));
    }

    /** True if {@code text} is a well-formed UPID. */
    public static boolean isUpid(String text) {
        return text != null && UPID.matcher(text).matches();
    }

    /** When the task started. */
    public Instant startedAt() {
        return Instant.ofEpochSecond(starttime);
    }

    /** The id as a VMID, or -1 if it is not one. */
    public int vmid() {
        return id.matches("[1-9][0-9]{2,8}") ? Integer.parseInt(id) : -1;
    }

    /** Sub-directory of {@code /var/log/pve/tasks} holding the log: the last hex digit of starttime. */
    public String logSubdir() {
        return String.format(Locale.ROOT, "%X", starttime & 0xF);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, pid, pstart, starttime, type, id, user);
    }
}
