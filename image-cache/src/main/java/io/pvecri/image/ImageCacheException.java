package io.pvecri.image;

/**
 * Base of everything the image cache reports. The set of causes is closed: an image is
 * missing, still in use, malformed/hostile, or the store's own disk I/O failed.
 */
public abstract sealed class ImageCacheException extends Exception
        permits ImageNotFoundException, ImageInUseException, InvalidImageException, ImageStoreIoException {

    ImageCacheException(String message) {
        super(message);
    }

    ImageCacheException(String message, Throwable cause) {
        super(message, cause);
    }
}
