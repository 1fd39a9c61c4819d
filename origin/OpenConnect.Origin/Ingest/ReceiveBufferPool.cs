using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Kestrel's memory pool for the origin: pinned 64 KiB blocks instead of 4 KiB ones. The socket
/// transport receives into one block at a time, so an upload body arrives in 64 KiB reads rather
/// than 4 KiB ones (16x fewer receives and wake-ups). Returned blocks are kept for reuse (up to
/// <see cref="MaxRetainedBlocks"/>), so a steady upload allocates nothing.
/// </summary>
public sealed class ReceiveBufferPoolFactory : IMemoryPoolFactory<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>At most 64 MiB of idle blocks are kept.</summary>
    public const int MaxRetainedBlocks = 1024;

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new Pool();

    private sealed class Pool : MemoryPool<byte>
    {
        private readonly ConcurrentQueue<Block> _free = new();
        private int _freeCount;

        public override int MaxBufferSize => BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            if (minBufferSize > BlockSize)
            {
                return Shared.Rent(minBufferSize);
            }

            if (_free.TryDequeue(out var block))
            {
                Interlocked.Decrement(ref _freeCount);
                block.Rented();
                return block;
            }

            return new Block(this);
        }

        public void Return(Block block)
        {
            if (Interlocked.Increment(ref _freeCount) <= MaxRetainedBlocks)
            {
                _free.Enqueue(block);
            }
            else
            {
                Interlocked.Decrement(ref _freeCount);
            }
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class Block(Pool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        private int _returned;

        public Memory<byte> Memory => _array;

        public void Rented() => Volatile.Write(ref _returned, 0);

        public void Dispose()
        {
            // Once per rent, even if an owner disposes twice.
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                pool.Return(this);
            }
        }
    }
}
