import { EntityManager, type FilterQuery, LockMode } from '@mikro-orm/mysql';
import { Injectable } from '@nestjs/common';
import { SessionsService } from '../auth/sessions.service.js';
import type { SessionEndCode } from '../auth/session-revocations.js';
import { AppError } from '../common/errors.js';
import { Member, MemberRole, SellerStatus } from '../members/member.entity.js';
import { type AdminMemberDto, SELLER_PAGE_SIZE, type SellerListQuery, type SellerPageDto } from './member-admin.dto.js';

interface Change {
  /** Applies the change; returns whether the member's sessions must end (their tokens say otherwise now). */
  apply(member: Member): boolean;
  /** The code old access tokens get once the sessions end. */
  code?: SessionEndCode;
  /** Ends the sessions even when nothing changed (a retried ban re-sends what a Redis outage may have lost). */
  alwaysEnd?: boolean;
  /** The acting admin may not do this to themselves. */
  notOnSelf?: boolean;
}

export function adminView(member: Member): AdminMemberDto {
  return {
    id: String(member.id),
    email: member.email,
    nickname: member.nickname,
    name: member.name,
    role: member.role,
    sellerStatus: member.sellerStatus,
    banned: member.bannedAt !== null,
    createdAt: member.createdAt.toISOString(),
  };
}

/**
 * Admin changes to members: seller approval, bans, roles, deletion. Each change that a member's
 * tokens would contradict bumps the session version in the same transaction and, after commit,
 * ends every session of the member (SessionsService.endAll).
 */
@Injectable()
export class MemberAdminService {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionsService,
  ) {}

  async sellers(query: SellerListQuery): Promise<SellerPageDto> {
    const where: FilterQuery<Member> = { role: MemberRole.SELLER, sellerStatus: query.status, deletedAt: null };
    if (query.lastId) where.id = { $gt: query.lastId };
    const rows = await this.em.find(Member, where, { orderBy: { id: 'asc' }, limit: SELLER_PAGE_SIZE + 1 });
    const items = rows.slice(0, SELLER_PAGE_SIZE).map(adminView);
    return { items, next: rows.length > SELLER_PAGE_SIZE ? { lastId: items[items.length - 1].id } : null };
  }

  async get(id: string): Promise<AdminMemberDto> {
    const member = await this.em.findOne(Member, { id, deletedAt: null });
    if (!member) throw new AppError('MEMBER_NOT_FOUND', `No member ${id}`);
    return adminView(member);
  }

  decideSeller(
    actorId: string,
    id: string,
    decision: SellerStatus.APPROVED | SellerStatus.REJECTED,
  ): Promise<AdminMemberDto> {
    return this.change(actorId, id, {
      apply: (member) => {
        if (member.role !== MemberRole.SELLER) throw new AppError('MEMBER_NOT_SELLER', `Member ${id} is not a seller`);
        if (member.sellerStatus === decision) return false;
        member.sellerStatus = decision;
        return true;
      },
    });
  }

  ban(actorId: string, id: string): Promise<AdminMemberDto> {
    return this.change(actorId, id, {
      notOnSelf: true,
      code: 'MEMBER_BANNED',
      alwaysEnd: true,
      apply: (member) => {
        if (member.bannedAt) return false;
        member.bannedAt = new Date();
        return true;
      },
    });
  }

  /** Lifts a ban; the member logs in again (their sessions ended with the ban). */
  unban(actorId: string, id: string): Promise<AdminMemberDto> {
    return this.change(actorId, id, {
      apply: (member) => {
        member.bannedAt = null;
        return false;
      },
    });
  }

  setRole(actorId: string, id: string, role: MemberRole): Promise<AdminMemberDto> {
    return this.change(actorId, id, {
      notOnSelf: true,
      apply: (member) => {
        if (member.role === role) return false;
        member.role = role;
        // An admin making someone a seller has decided on them.
        member.sellerStatus = role === MemberRole.SELLER ? SellerStatus.APPROVED : null;
        return true;
      },
    });
  }

  /**
   * Deletes a member: the row stays (their coupons and products refer to it) with its email,
   * nickname and phone released (values no signup can take), and every session ends.
   */
  async remove(actorId: string, id: string): Promise<void> {
    await this.change(actorId, id, {
      notOnSelf: true,
      apply: (member) => {
        member.deletedAt = new Date();
        member.email = `deleted:${member.id}`;
        member.nickname = `#d${member.id}`;
        member.phone = `x${member.id}`;
        return true;
      },
    });
  }

  private async change(actorId: string, id: string, change: Change): Promise<AdminMemberDto> {
    if (change.notOnSelf && actorId === id)
      throw new AppError('CANNOT_TARGET_SELF', 'An admin cannot do this to their own account');
    let endSessions = false;
    const member = await this.em.fork().transactional(async (em) => {
      const found = await em.findOne(Member, { id, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!found) throw new AppError('MEMBER_NOT_FOUND', `No member ${id}`);
      endSessions = change.apply(found);
      if (endSessions) found.sessionVersion += 1;
      return found;
    });
    if (endSessions || change.alwaysEnd) await this.sessions.endAll(member, change.code ?? 'SESSION_ENDED');
    return adminView(member);
  }
}
