package io.pvecri.proxmox.emulator;

import java.nio.charset.StandardCharsets;

/**
 * What the front writes back. {@code drop} closes the connection without any answer.
 *
 * @param status      HTTP status
 * @param reason      reason phrase (PVE: first line of the error message)
 * @param contentType content type, or null for none
 * @param body        body bytes
 * @param drop        close the connection without responding
 */
record EmuResponse(int status, String reason, String contentType, byte[] body, boolean drop) {

    static EmuResponse json(int status, String reason, String json) {
        return new EmuResponse(status, reason, "application/json;charset=UTF-8", json.getBytes(StandardCharsets.UTF_8), false);
    }

    static EmuResponse bare(int status, String reason) {
        return new EmuResponse(status, reason, null, new byte[0], false);
    }

    static EmuResponse dropConnection() {
        return new EmuResponse(0, "", null, new byte[0], true);
    }
}
