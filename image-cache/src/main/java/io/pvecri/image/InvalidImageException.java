package io.pvecri.image;

/**
 * The input is not an acceptable image: malformed or oversized JSON, a digest or size mismatch,
 * a hostile layer entry, an unsupported format, or an unparsable reference. Nothing of a
 * failed import is left in the store.
 */
public final class InvalidImageException extends ImageCacheException {

    public InvalidImageException(String message) {
        super(message);
    }

    public InvalidImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
