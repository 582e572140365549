package io.pvecri.image;

import io.airlift.compress.zstd.ZstdInputStream;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Decompresses a zstd layer (any number of frames, with or without checksums, long windows)
 * with aircompressor's pure-Java decoder. Its runtime exceptions for corrupt input become
 * IOExceptions, which the unpacker reports as an unreadable layer.
 */
final class ZstdLayerStream extends FilterInputStream {

    private final String what;

    ZstdLayerStream(InputStream compressed, String what) {
        super(new ZstdInputStream(compressed));
        this.what = what;
    }

    @Override
    public int read() throws IOException {
        try {
            return super.read();
        } catch (RuntimeException e) {
            throw corrupt(e);
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            return super.read(b, off, len);
        } catch (RuntimeException e) {
            throw corrupt(e);
        }
    }

    @Override
    public long skip(long n) throws IOException {
        try {
            return super.skip(n);
        } catch (RuntimeException e) {
            throw corrupt(e);
        }
    }

    private IOException corrupt(RuntimeException e) {
        return new IOException("corrupt zstd stream in " + what + ": " + e.getMessage(), e);
    }
}
