package io.pvecri.image;

/**
 * Base of everything the image cache reports. The set of causes is closed: an image is
 * missing, still in use, malformed/hostile, the store's own disk I/O failed, or a registry
 * could not be used ({@link RegistryException}: auth, rate limits, network, timeouts).
 */
public abstract sealed class ImageCacheException extends Exception
        permits ImageNotFoundException, ImageInUseException, InvalidImageException, ImageStoreIoException,
        RegistryException {

    ImageCacheException(String message) {
        super(message);
    }

    ImageCacheException(String message, Throwable cause) {
        super(message, cause);
    }
}
