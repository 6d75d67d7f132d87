/**
 * Coalesces repaint requests into at most one callback per animation frame.
 * Nothing runs while nothing changed: no idle rAF loop burning the CPU.
 */
export class FrameLoop {
  private scheduled = false;

  constructor(
    private readonly render: (now: number) => void,
    private readonly raf: (cb: FrameRequestCallback) => number = (cb) => requestAnimationFrame(cb),
  ) {}

  request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.raf((now) => {
      this.scheduled = false;
      this.render(now);
    });
  }
}
