/* liburing side of the benchmark: each function runs `iters` loop iterations of one
 * workload, written the way liburing's own examples do it. Setup is done by the *_new
 * functions so the Rust driver times only the loops. */
#include <liburing.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct io_uring *lu_ring_new(unsigned entries, unsigned flags, int *err)
{
	struct io_uring *r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	int ret = io_uring_queue_init(entries, r, flags);
	if (ret < 0) {
		free(r);
		*err = ret;
		return NULL;
	}
	*err = 0;
	return r;
}

void lu_ring_free(struct io_uring *r)
{
	io_uring_queue_exit(r);
	free(r);
}

int lu_ring_fd(struct io_uring *r) { return r->ring_fd; }

static unsigned reap(struct io_uring *r, uint64_t *sink)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(r, head, cqe) {
		*sink += cqe->user_data + (uint64_t)(int64_t)cqe->res;
		n++;
	}
	io_uring_cq_advance(r, n);
	return n;
}

/* NOP: push `batch`, submit and wait for `batch`, reap. Returns 0 or -errno. */
int lu_nop(struct io_uring *r, unsigned batch, uint64_t iters, uint64_t *sink)
{
	for (uint64_t i = 0; i < iters; i++) {
		for (unsigned j = 0; j < batch; j++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(r);
			io_uring_prep_nop(sqe);
			sqe->user_data = j;
		}
		int ret = io_uring_submit_and_wait(r, batch);
		if (ret < 0)
			return ret;
		reap(r, sink);
	}
	return 0;
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Random 4 KiB reads at queue depth `qd`: `iters` completions. buf holds qd x 4 KiB; with
 * `fixed` it is registered buffer 0. `blocks` is the file size in 4 KiB blocks. */
int lu_read(struct io_uring *r, int fd, int fixed, unsigned qd, uint64_t blocks, char *buf,
	    uint64_t *seed, uint64_t iters, uint64_t *sink)
{
	uint64_t issued = 0, done = 0;
	unsigned free_slot[256], nfree = qd;
	for (unsigned i = 0; i < qd; i++)
		free_slot[i] = i;
	while (done < iters) {
		while (nfree && issued < iters) {
			unsigned s = free_slot[--nfree];
			struct io_uring_sqe *sqe = io_uring_get_sqe(r);
			uint64_t off = (xorshift(seed) % blocks) * 4096;
			if (fixed)
				io_uring_prep_read_fixed(sqe, fd, buf + s * 4096, 4096, off, 0);
			else
				io_uring_prep_read(sqe, fd, buf + s * 4096, 4096, off);
			sqe->user_data = s;
			issued++;
		}
		int ret = io_uring_submit_and_wait(r, 1);
		if (ret < 0)
			return ret;
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(r, head, cqe) {
			if (cqe->res != 4096)
				return cqe->res < 0 ? cqe->res : -EIO;
			free_slot[nfree++] = (unsigned)cqe->user_data;
			*sink += cqe->res;
			n++;
		}
		io_uring_cq_advance(r, n);
		done += n;
	}
	return 0;
}

int lu_register_buffers(struct io_uring *r, char *buf, unsigned nr, unsigned len)
{
	struct iovec *iov = malloc(nr * sizeof(*iov));
	for (unsigned i = 0; i < nr; i++) {
		iov[i].iov_base = buf + (size_t)i * len;
		iov[i].iov_len = len;
	}
	int ret = io_uring_register_buffers(r, iov, nr);
	free(iov);
	return ret;
}

/* register + unregister `nr` buffers of `len` bytes, `iters` times. */
int lu_reg_unreg(struct io_uring *r, char *buf, unsigned nr, unsigned len, uint64_t iters)
{
	struct iovec *iov = malloc(nr * sizeof(*iov));
	for (unsigned i = 0; i < nr; i++) {
		iov[i].iov_base = buf + (size_t)i * len;
		iov[i].iov_len = len;
	}
	int ret = 0;
	for (uint64_t i = 0; i < iters && ret == 0; i++) {
		ret = io_uring_register_buffers(r, iov, nr);
		if (ret == 0)
			ret = io_uring_unregister_buffers(r);
	}
	free(iov);
	return ret;
}

/* liburing 2.3 has no io_uring_clone_buffers (added in 2.8): the raw register call
 * (IORING_REGISTER_CLONE_BUFFERS = 30), then unregister on the destination. */
struct clone_arg {
	uint32_t src_fd, flags, src_off, dst_off, nr, pad[3];
};

int lu_clone(struct io_uring *src, struct io_uring *dst, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		struct clone_arg a = { .src_fd = (uint32_t)src->ring_fd };
		long ret = syscall(__NR_io_uring_register, dst->ring_fd, 30, &a, 1);
		if (ret < 0)
			return -errno;
		int r = io_uring_unregister_buffers(dst);
		if (r < 0)
			return r;
	}
	return 0;
}

/* MSG_RING data: `per` messages per submit from a to b; reap both sides. */
int lu_msg(struct io_uring *a, struct io_uring *b, unsigned per, uint64_t iters, uint64_t *sink)
{
	for (uint64_t i = 0; i < iters; i++) {
		for (unsigned j = 0; j < per; j++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(a);
			io_uring_prep_msg_ring(sqe, b->ring_fd, 0, j, 0);
			sqe->user_data = j;
		}
		int ret = io_uring_submit_and_wait(a, per);
		if (ret < 0)
			return ret;
		reap(a, sink);
		unsigned got = 0;
		while (got < per) {
			got += reap(b, sink);
			if (got < per) {
				ret = io_uring_submit_and_wait(b, per - got);
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

/* `--callgrind` reads: `batch` 4 KiB requests on slots 0..batch of buf, of `kind` 0 READ,
 * 1 READ_FIXED (registered buffer 0), 2 READV (one iovec, written for each request),
 * 3 WRITE; submit and wait for all, reap; offsets walk the file's `blocks` blocks in
 * order. Returns 0 or -errno. One loop per kind (the kind a constant in each), as on the
 * Rust sides, so that no request pays for a branch on it. */
static inline __attribute__((always_inline)) int
read_batch_of(struct io_uring *r, int fd, const int kind, unsigned batch, uint64_t blocks,
	      char *buf, uint64_t iters, uint64_t *sink)
{
	struct iovec iov[64];
	uint64_t n = 0;
	if (batch > 64)
		return -EINVAL;
	for (uint64_t i = 0; i < iters; i++) {
		for (unsigned j = 0; j < batch; j++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(r);
			uint64_t off = (n++ % blocks) * 4096;
			if (kind == 1) {
				io_uring_prep_read_fixed(sqe, fd, buf + j * 4096, 4096, off, 0);
			} else if (kind == 2) {
				iov[j].iov_base = buf + j * 4096;
				iov[j].iov_len = 4096;
				io_uring_prep_readv(sqe, fd, &iov[j], 1, off);
			} else if (kind == 3) {
				io_uring_prep_write(sqe, fd, buf + j * 4096, 4096, off);
			} else {
				io_uring_prep_read(sqe, fd, buf + j * 4096, 4096, off);
			}
			sqe->user_data = j;
		}
		int ret = io_uring_submit_and_wait(r, batch);
		if (ret < 0)
			return ret;
		struct io_uring_cqe *cqe;
		unsigned head, got = 0;
		io_uring_for_each_cqe(r, head, cqe) {
			if (cqe->res != 4096)
				return cqe->res < 0 ? cqe->res : -EIO;
			*sink += cqe->user_data;
			got++;
		}
		io_uring_cq_advance(r, got);
	}
	return 0;
}

int lu_read_batch(struct io_uring *r, int fd, int kind, unsigned batch, uint64_t blocks,
		  char *buf, uint64_t iters, uint64_t *sink)
{
	switch (kind) {
	case 0:
		return read_batch_of(r, fd, 0, batch, blocks, buf, iters, sink);
	case 1:
		return read_batch_of(r, fd, 1, batch, blocks, buf, iters, sink);
	case 2:
		return read_batch_of(r, fd, 2, batch, blocks, buf, iters, sink);
	case 3:
		return read_batch_of(r, fd, 3, batch, blocks, buf, iters, sink);
	default:
		return -EINVAL;
	}
}
