package io.pvecri.proxmox.emulator;

/**
 * A successful handler result: {@code data} (Jackson-serialisable: maps, lists, strings, numbers,
 * null) and, for paged lists, {@code total}.
 */
record Reply(Object data, Long total) {

    static Reply of(Object data) {
        return new Reply(data, null);
    }

    static Reply none() {
        return new Reply(null, null);
    }
}
