// SPDX-License-Identifier: GPL-2.0
/* The generator's test fixture: one function per operator (ci/mutants/test_generate.py). */
#include "fixture.h"

static int check(struct buf *b, unsigned int len)
{
	if (!len || len > MAX_LEN)
		return -EINVAL;
	if (b->flags & 1) /* "if (x) return -EBUSY;" in a comment is not code */
		return -EBUSY;
	return 0;
}

static int relax(int a, int b)
{
	if (a < b)
		return 1;
	if (a != 7)
		return 2;
	if (a && b)
		return 3;
	BUILD_BUG_ON(MAX_LEN >= (1u << 16)); return 0;
}

static void fields(struct buf *b, struct req *req, int res)
{
	b->head++;
	req->cqe.res = res;
	b->slots[res] = b;
	WRITE_ONCE(b->len, 0);
	b->head += 2;
}

static void complete(struct req *req, int res)
{
	req_set_fail(req);
	io_req_set_res(req, res, 0);
}

static void swapped(struct buf *b, int len, int nr)
{
	commit(b, len, nr);
	commit(b, len, nr);
}

static int uncovered(struct buf *b)
{
	if (b->len < 4)
		return -EFAULT;
	return 0;
}
