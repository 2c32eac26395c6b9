import 'reflect-metadata';
import { Controller, Get, Injectable, type OnModuleInit } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { firstValueFrom, of, delay, type Observable } from 'rxjs';
import { startUnitTracing, type UnitTracing } from '../test/support/tracing.js';
import { Span, Traced } from './span.decorator.js';

@Controller('orders')
class OrdersController {
  @Span()
  @Get('above')
  spanAboveRoute() {
    return 'above';
  }

  @Get('below')
  @Span('orders.below')
  spanBelowRoute() {
    return 'below';
  }
}

class PricingEngine {
  readonly currency = 'EUR';

  @Span()
  price(amount: number, vat: number): string {
    return `${amount * (1 + vat)} ${this.currency}`;
  }

  @Span('pricing.fetchRate', { attributes: { 'rate.source': 'ecb' } })
  async fetchRate(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return this.nested();
  }

  @Span()
  nested(): number {
    return 1.1;
  }

  @Span()
  quotes(): Observable<number> {
    return of(1, 2).pipe(delay(1));
  }

  @Span()
  reject(): never {
    throw new SyntaxError('bad quote');
  }

  @Span()
  static fromConfig(): string {
    return 'static';
  }
}

@Injectable()
@Traced({ exclude: ['internal'] })
class InventoryService implements OnModuleInit {
  private stock = 3;

  onModuleInit(): void {}

  get available(): number {
    return this.stock;
  }

  reserve(count: number): number {
    this.stock -= count;
    return this.internal();
  }

  internal(): number {
    return this.stock;
  }

  @Span('inventory.audit')
  audit(): string {
    return 'ok';
  }
}

describe('@Span and @Traced', () => {
  let tracing: UnitTracing;

  beforeAll(() => {
    tracing = startUnitTracing();
  });
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.recorder.reset());

  const names = () => tracing.recorder.spans.map((s) => s.name);

  it('runs a method in a span named Class.method, with its this, arguments and result', () => {
    expect(new PricingEngine().price(100, 0.2)).toBe('120 EUR');
    const [span] = tracing.recorder.byName('PricingEngine.price');
    expect(span.attributes['code.function.name']).toBe('PricingEngine.price');
    expect(PricingEngine.fromConfig()).toBe('static');
    expect(names()).toEqual(['PricingEngine.price', 'PricingEngine.fromConfig']);
  });

  it('nests async and Observable methods, with a custom name and attributes', async () => {
    const engine = new PricingEngine();
    expect(await engine.fetchRate()).toBe(1.1);
    expect(await firstValueFrom(engine.quotes())).toBe(1);
    const [fetch] = tracing.recorder.byName('pricing.fetchRate');
    expect(fetch.attributes['rate.source']).toBe('ecb');
    expect(tracing.recorder.childrenOf(fetch).map((s) => s.name)).toEqual(['PricingEngine.nested']);
    expect(tracing.recorder.byName('PricingEngine.quotes')).toHaveLength(1);
  });

  it('records a thrown error and re-throws it unchanged', () => {
    expect(() => new PricingEngine().reject()).toThrow(SyntaxError);
    const [span] = tracing.recorder.byName('PricingEngine.reject');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad quote' });
  });

  it("keeps the method's name, arity and Nest metadata whichever decorator comes first", () => {
    const prototype = OrdersController.prototype;
    expect(prototype.spanAboveRoute.name).toBe('spanAboveRoute');
    expect(PricingEngine.prototype.price.length).toBe(2);
    expect(Reflect.getMetadata(PATH_METADATA, prototype.spanAboveRoute)).toBe('above');
    expect(Reflect.getMetadata(PATH_METADATA, prototype.spanBelowRoute)).toBe('below');
    const controller = new OrdersController();
    controller.spanAboveRoute();
    controller.spanBelowRoute();
    expect(names()).toEqual(['OrdersController.spanAboveRoute', 'orders.below']);
  });

  it('traces every plain method of a @Traced class, one span each, and nothing else', () => {
    const inventory = new InventoryService();
    inventory.onModuleInit();
    expect(inventory.available).toBe(3);
    expect(inventory.reserve(1)).toBe(2);
    expect(inventory.audit()).toBe('ok');
    expect(names()).toEqual(['InventoryService.reserve', 'inventory.audit']);
  });

  it('nests under the active span', () => {
    const tracer = trace.getTracer('test');
    tracer.startActiveSpan('outer', (outer) => {
      new PricingEngine().nested();
      outer.end();
    });
    const [outer] = tracing.recorder.byName('outer');
    expect(tracing.recorder.childrenOf(outer).map((s) => s.name)).toEqual(['PricingEngine.nested']);
  });
});

describe('@Span with no SDK running', () => {
  it('behaves exactly as the undecorated method', async () => {
    const engine = new PricingEngine();
    expect(engine.price(10, 0.5)).toBe('15 EUR');
    expect(await engine.fetchRate()).toBe(1.1);
    expect(() => engine.reject()).toThrow(new SyntaxError('bad quote'));
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
