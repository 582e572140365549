package io.pvecri.proxmox.emulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A refusal as PVE raises it: {@code die "...\n"} (HTTP 500), {@code raise_param_exc} (400,
 * {@code Parameter verification failed.} plus {@code errors}), {@code raise_perm_exc} (403
 * {@code Permission check failed (...)}). Messages end with a newline, as PVE's do.
 */
final class PveError extends RuntimeException {

    final int status;
    final String pveMessage;
    final Map<String, String> errors;

    private PveError(int status, String message, Map<String, String> errors) {
        super(message.strip(), null, false, false);
        this.status = status;
        this.pveMessage = message.endsWith("\n") ? message : message + "\n";
        this.errors = errors;
    }

    /** {@code die "<message>\n"}: HTTP 500. */
    static PveError die(String message) {
        return new PveError(500, message, Map.of());
    }

    static PveError status(int status, String message) {
        return new PveError(status, message, Map.of());
    }

    /** {@code raise_param_exc({param => msg})}. */
    static PveError param(String param, String message) {
        return params(Map.of(param, message));
    }

    static PveError params(Map<String, String> errors) {
        return new PveError(400, "Parameter verification failed.", new LinkedHashMap<>(errors));
    }

    /** {@code raise_perm_exc("<path>, <priv>")}. */
    static PveError perm(String what) {
        return new PveError(403, "Permission check failed (" + what + ")", Map.of());
    }
}
