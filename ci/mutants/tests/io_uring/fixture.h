/* Prototypes the swap operator reads. */
void commit(struct buf *b, int len, int nr);
