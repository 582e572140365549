package io.pvecri.image;

import java.io.IOException;

/** The store's own files could not be read or written (disk full, permissions, lock held, ...). */
public final class ImageStoreIoException extends ImageCacheException {

    public ImageStoreIoException(String message, IOException cause) {
        super(cause == null ? message : message + ": " + describe(cause), cause);
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : " " + m);
    }
}
