import { EntityManager, UniqueConstraintViolationException } from '@mikro-orm/mysql';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { Member, MemberRole, SellerStatus } from './member.entity.js';
import { PasswordHasher } from './password-hasher.js';

export interface NewMember {
  email: string;
  password: string;
  name: string;
  nickname: string;
  phone: string;
  address: string;
  role: MemberRole;
  /** PENDING for a SELLER signup (see initialSellerStatus). */
  sellerStatus: SellerStatus | null;
}

@Injectable()
export class MembersService {
  constructor(
    private readonly em: EntityManager,
    private readonly hasher: PasswordHasher,
  ) {}

  async create(input: NewMember): Promise<Member> {
    const { password, ...fields } = input;
    const taken = await this.em.findOne(Member, {
      $or: [{ email: fields.email }, { nickname: fields.nickname }, { phone: fields.phone }],
    });
    if (taken) throw this.takenError(taken, fields);
    const member = this.em.create(Member, { ...fields, passwordHash: await this.hasher.hash(password) });
    try {
      await this.em.persist(member).flush();
    } catch (error) {
      // Two signups raced past the check: the UNIQUE keys decide, and the loser gets the same 409.
      if (error instanceof UniqueConstraintViolationException) {
        const message = error.message;
        throw new AppError(
          message.includes('nickname') ? 'NICKNAME_TAKEN' : message.includes('phone') ? 'PHONE_TAKEN' : 'EMAIL_TAKEN',
          'Already registered',
        );
      }
      throw error;
    }
    return member;
  }

  /** Returns the member when the password matches; the same error for unknown email and wrong password. */
  async verifyCredentials(email: string, password: string): Promise<Member> {
    const member = await this.em.findOne(Member, { email }, { populate: ['passwordHash'] });
    // An unknown email costs the same hash verification as a wrong password: timing reveals no accounts.
    const hash = member?.passwordHash ?? (await this.dummyHash());
    const ok = await this.hasher.verify(hash, password);
    if (!member || !ok) throw new AppError('INVALID_CREDENTIALS', 'Wrong email or password');
    return member;
  }

  private dummy?: Promise<string>;
  private dummyHash(): Promise<string> {
    // Made with the current parameters, so it costs what a member's hash costs. A refused attempt
    // (AUTH_BUSY) is not kept: the next login makes it again.
    this.dummy ??= this.hasher.hash('not-a-password-of-anyone').catch((error: unknown) => {
      this.dummy = undefined;
      throw error;
    });
    return this.dummy;
  }

  private takenError(taken: Member, wanted: Pick<NewMember, 'email' | 'nickname' | 'phone'>): AppError {
    if (taken.email === wanted.email) return new AppError('EMAIL_TAKEN', 'This email is already registered');
    if (taken.nickname === wanted.nickname) return new AppError('NICKNAME_TAKEN', 'This nickname is already taken');
    return new AppError('PHONE_TAKEN', 'This phone number is already registered');
  }
}
