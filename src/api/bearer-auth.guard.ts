import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import { ClientPolicyService } from '../gateway/client-policy.service.js';

/** With AUTH_TOKENS set, REST calls need `Authorization: Bearer <token>`. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(private readonly policy: ClientPolicyService) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.policy.authRequired) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (match && this.policy.isTokenValid(match[1])) return true;
    throw new UnauthorizedException('a valid "Authorization: Bearer <token>" header is required');
  }
}
