package io.pvecri.image;

/**
 * A registry could not be used for a pull: it refused the credentials or the access, limited the
 * rate, failed, could not be reached, stopped sending, or timed out. The {@link #reason()} says
 * which, for status codes and metrics; the message names the registry and the image. (A missing
 * image is an {@link ImageNotFoundException}, content that does not match its digest an
 * {@link InvalidImageException}.)
 */
public final class RegistryException extends ImageCacheException {

    /** Why a registry request failed. */
    public enum Reason {
        /** 401: credentials are missing or were rejected. */
        UNAUTHORIZED,
        /** 403: the credentials do not grant pull access. */
        FORBIDDEN,
        /** 429 (Docker Hub's pull limits, for example). */
        RATE_LIMITED,
        /** 5xx from the registry. */
        SERVER_ERROR,
        /** Connection refused or reset, DNS, TLS, or a body that ended before its length. */
        NETWORK,
        /** No progress for the progress timeout, or the whole pull took longer than its limit. */
        TIMEOUT,
        /** The registry answered in a way the distribution API does not allow (unexpected status or headers). */
        PROTOCOL;

        /** Lower-case name, for metric labels. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final Reason reason;
    private final String registry;

    public RegistryException(Reason reason, String registry, String message) {
        this(reason, registry, message, null);
    }

    public RegistryException(Reason reason, String registry, String message, Throwable cause) {
        super(message, cause);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
        this.registry = registry;
    }

    public Reason reason() {
        return reason;
    }

    /** The registry host ({@code host[:port]}) the failure came from. */
    public String registry() {
        return registry;
    }
}
